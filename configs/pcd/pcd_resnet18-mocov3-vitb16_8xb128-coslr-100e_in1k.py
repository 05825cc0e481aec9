# Teacher: MoCo v3 ViT-B/16 (vit-b-300ep.pth.tar, Table 5): the 14x14 patch tokens (CLS dropped) through the
# head 768-4096-4096-256 as a SpatialAdaptor. PixelContrastHead resizes the 14x14 output to the student's 7x7
# bilinearly, which at exactly 1/2 is 2x2 average pooling (the paper's choice).
_base_ = './pcd_resnet18_8xb128-coslr-100e_in1k.py'
model = dict(
    teacher=dict(
        backbone=dict(_delete_=True, type='TimmFeatureMap', model_name='vit_base_patch16_224', dynamic_img_size=True),
        neck=dict(channels=(768, 4096, 4096, 256))), teacher_ckpt='checkpoints/vit-b-300ep.pth.tar',
    teacher_ckpt_format='mocov3_vit')
