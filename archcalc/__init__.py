"""archcalc: exact shapes, parameters, MACs, FLOPs, connections, memory and receptive fields of
neural-network architectures, from declarative specs, proven against torch.

    >>> from archcalc import load_spec, analyse
    >>> report = analyse(load_spec("vgg16"))
    >>> report.totals.params
    138357544
"""

from archcalc.analysis import analyse
from archcalc.errors import ArchcalcError
from archcalc.spec import load_spec, load_spec_text

__version__ = "0.1.0"
__all__ = ["ArchcalcError", "analyse", "load_spec", "load_spec_text", "__version__"]
