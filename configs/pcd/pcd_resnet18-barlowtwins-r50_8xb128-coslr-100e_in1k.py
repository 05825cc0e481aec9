# Teacher: Barlow Twins ResNet-50 (checkpoint.pth, Table 5): projector 8192-8192-8192 (two BN + ReLU stages).
# Its 8192-d pixels make the symmetric loss too large, so the paper uses the asymmetric variant (appendix A.3/B.3:
# "We have to use the variant of PCD with asymmetric loss ... due to limited memory"): Table 1's "PCD, asymmetric"
# (Sec. 4.2: "we adopt the symmetric augmentation policy ... and sample one augmented view from each input image"),
# its single view and symmetric=False inherited from that ablation's config.
_base_ = './ablations/pcd_resnet18-asymmetric_8xb128-coslr-100e_in1k.py'
model = dict(teacher=dict(neck=dict(channels=(2048, 8192, 8192, 8192))),
             teacher_ckpt='checkpoints/barlowtwins_checkpoint.pth', teacher_ckpt_format='barlowtwins')
