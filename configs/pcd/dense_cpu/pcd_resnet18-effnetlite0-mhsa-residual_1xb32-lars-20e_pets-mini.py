# The CPU dense benchmark's residual-MHSA row (issue 34, not in the paper): x + MHSA(x), the sub-layer of a
# Transformer layer, where the paper-literal MHSA outputs MHSA(x) alone and averages the pixels at initialisation.
_base_ = './pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'
model = dict(attention=dict(residual=True))
