# The official code's pairing: the student's view 1 against the teacher's view 2 and vice versa (not in the paper,
# whose positives are pixels of the same view).
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(cross_view=True)
