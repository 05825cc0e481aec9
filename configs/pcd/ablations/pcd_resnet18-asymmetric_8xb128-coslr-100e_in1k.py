# Table 1, "PCD, asymmetric": one augmented view per image from a symmetric policy, the loss on that view. BYOL's two
# distributions differ only in blur (p 1.0 / 0.1) and solarization (p 0 / 0.2); a view drawn from either with equal
# chance has blur p 0.55 and solarization p 0.1, the symmetric policy taken here (docs/ablations.md).
_base_ = '../pcd_resnet18_8xb128-coslr-100e_in1k.py'
view = _base_.train_pipeline[1]['transforms'][0]
view[4]['prob'], view[5]['prob'] = 0.55, 0.1  # RandomGaussianBlur, RandomSolarize
train_pipeline = [
    _base_.train_pipeline[0],
    dict(type='MultiView', num_views=[1], transforms=[view]),
    _base_.train_pipeline[2],
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(symmetric=False)
