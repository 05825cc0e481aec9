"""Run by tests/test_distributed.py under torch.distributed.run: tools/train.py's job (mmpcd.apis), then each rank
dumps its queue, student weights, learning rate and the teacher keys it enqueued to WORK_DIR/rank{R}.pth.
Takes tools/train.py's arguments."""
import os.path as osp

import torch
from mmengine.dist import get_rank, get_world_size

from mmpcd.apis import build_runner, parse_train_args
from mmpcd.models import EmbeddingQueue

runner = build_runner(**vars(parse_train_args()))
model = runner.model.module
queue = next(m for m in model.modules() if isinstance(m, EmbeddingQueue))  # PCD's and SEED's head, DisCo's queue
local_keys = []
push = queue.push


def recording_push(keys: torch.Tensor) -> None:
    local_keys.append(keys.float())
    push(keys)


queue.push = recording_push
runner.train()
torch.save(
    dict(queue=queue.queue, queue_ptr=queue.queue_ptr, keys=local_keys, world_size=get_world_size(),
         params={k: v.detach()
                 for k, v in model.named_parameters() if not k.startswith('teacher.')},
         initial_lr=runner.optim_wrapper.param_groups[0]['initial_lr'], iters=runner.iter),
    osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
