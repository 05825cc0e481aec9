# The CPU dense benchmark's residual MHSA with a zero-initialised output projection (issue 34, not in the paper):
# x + MHSA(x) that starts as the identity, so the pixels enter the loss as φ gives them until the attention learns.
_base_ = './pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'
model = dict(attention=dict(residual=True, zero_init_proj=True))
