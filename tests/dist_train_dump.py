"""Run by tests/test_distributed.py under torch.distributed.run: tools/train.py's job (mmpcd.apis), then each rank
dumps its queue, student weights, learning rate and the teacher keys it enqueued to WORK_DIR/rank{R}.pth.
Takes tools/train.py's arguments."""
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.dist import get_rank, get_world_size

from mmpcd.apis import build_runner, parse_train_args

runner = build_runner(**vars(parse_train_args()))
model = runner.model.module
local_keys = []
enqueue = model.head.enqueue


def recording_enqueue(teacher: torch.Tensor) -> None:
    local_keys.append(F.normalize(teacher.float().mean(dim=(2, 3)), dim=1))
    enqueue(teacher)


model.head.enqueue = recording_enqueue
runner.train()
torch.save(
    dict(queue=model.head.queue, queue_ptr=model.head.queue_ptr, keys=local_keys, world_size=get_world_size(),
         params={k: v.detach() for k, v in model.named_parameters() if v.requires_grad},
         initial_lr=runner.optim_wrapper.param_groups[0]['initial_lr'], iters=runner.iter),
    osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
