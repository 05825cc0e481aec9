# COCO (Table 1): Mask R-CNN R18-C4, 1x schedule (12 epochs), train2017 -> val2017, AP^bbox and AP^mask.
# MoCo's R50-C4 setting (detectron2 coco_R_50_C4_1x_moco.yaml; mmselfsup's port mask-rcnn_r50-c4_ms-1x_coco.py): the
# R18-C4 model with the extra BN after res5 (../_base_/r18-c4_pcd.py), multi-scale 640-800 and 1000 warm-up
# iterations (../_base_/coco_pcd.py), precise BN, no weight decay on norm layers (../_base_/detectron2_pcd.py).
# Paper (Table 1, PCD R18): AP^bbox 32.2, AP^mask 29.0 (ImageNet supervised R18: 30.7 / 28.0).
_base_ = ['mmdet::mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py', '../_base_/r18-c4_pcd.py', '../_base_/coco_pcd.py']
model = _base_.pcd_c4_model
model['roi_head']['mask_head'] = dict(in_channels=512)
train_dataloader = dict(dataset=dict(pipeline=_base_.pcd_coco_train_pipeline))
param_scheduler = _base_.pcd_coco_param_scheduler
optim_wrapper = _base_.pcd_optim_wrapper
