# Entry point: PCD, ResNet-18 student, MoCo v3 ResNet-50 teacher, 8 x 128, 100 epochs, ImageNet.
#   tools/dist_train.sh configs/pcd_r18.py 8
_base_ = './pcd/pcd_resnet18_8xb128-coslr-100e_in1k.py'
