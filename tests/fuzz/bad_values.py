"""The wrong values, sizes, expressions, names and key typos the fuzz corpus's data mutations draw from."""

WRONG_VALUES = ["text", [1, 2], {"a": 1}, None, True, 3.5, [[1]], -1, "", [], {}]
BAD_SIZES = [-3, 0, 2.5, 10**30, 2**63, 10**400, -(2**70), "1e999", "0.5", ".nan", [3, 3, 3], "2**62 * 4"]
BAD_EXPRESSIONS = [
    "2 +", "__import__('os').system('touch /tmp/archcalc-pwned')", "a.b", "lambda: 1", "x if", "1/0",
    "9**9**9", "[1] * 10**9", "open('/etc/passwd')", "'a' * 10", "1 <", "(" * 120 + "1" + ")" * 120,
    "[x for x in [1]]", "{'a': 1}", "undefined_name * 2", "widht", "i.real", "-" * 400 + "1",
    "'%999999999d' % 1", "sqrt(-1)", "int('9' * 30)", "make_divisible(3, 0)", "len(5)", "min()",
    "2 ** 0.5 ** -9", "1e308 * 10", "[1, 2][5]", "max(1, 'a')", "f'{1}'", "...", "1 if 2 else",
]
UNKNOWN_TYPES = ["conv4d", "Conv2d", "", "relu ", "linearr", "max_pool", "transformer", "0", "conv2d\n"]
UNKNOWN_NAMES = ["nonexistent_layer", "input.x", "a.b.c", "conv99", "", ".", "..", "input.input", "0.1.2"]
TYPO_KEYS = {"type": "typ", "kernel": "kernal", "out_channels": "out_channel", "inputs": "input",
             "stride": "strides", "padding": "pad", "layers": "layer", "repeat": "repeats", "block": "blok",
             "args": "arg", "params": "param", "input": "inputs", "variables": "vars", "name": "Name"}  # fmt: skip
SIZE_KEYS = ("out_channels", "out", "kernel", "kernel_size", "stride", "padding", "dilation", "groups",
             "out_features", "size", "output_size", "levels", "upscale", "repeat", "dims", "start", "end")  # fmt: skip
