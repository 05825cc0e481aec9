# The CPU dense benchmark's small-map PCD row: 64 px crops, so the student's and the teacher's last maps are 2 x 2
# (as in the classification benchmark) instead of 4 x 4; otherwise the 128 px recipe.
_base_ = './pcd_resnet18-effnetlite0_1xb32-lars-20e_pets-mini.py'

crop_size = 64
train_pipeline = _base_.train_pipeline
for view in train_pipeline[1]['transforms']:
    view[0].update(size=crop_size)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
