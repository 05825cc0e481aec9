# DisCo's ResNet-18 recipe (Yuting-Gao/DisCo-pytorch:Reproduction.md line 68: main.py --lr 0.03 --batch-size 256
# --moco-t 0.2 --aug-plus --mlp --cos, 200 epochs): MoCo v2's two views and schedule; 8 processes x 32 = 256, the 32
# images a process of DisCo's 8-GPU run, over which its consistency is summed (docs/disco.md).
_base_ = [
    '../_base_/models/disco_r18.py',
    '../_base_/datasets/imagenet_mocov2.py',
    '../_base_/schedules/sgd_coslr-200e_in1k.py',
    '../_base_/default_runtime.py',
]
