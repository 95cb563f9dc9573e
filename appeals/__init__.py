"""appeals: denied behavioral-health claims in, appeal packets out.

The pipeline is visible in the package layout: intake -> classify -> law -> compose -> render.
Each stage is a plain function over the records in `appeals.models`.
"""

__version__ = "0.1.0"
