"""The real-models campaign: archcalc's importer on torchvision, timm and Hugging Face models, against
`sum(p.numel())`, fvcore and torch's FlopCounterMode. `make realmodels`; see docs/real-models.md."""
