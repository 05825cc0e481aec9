"""Train a PCD model (or any mmselfsup config) with mmengine's Runner.

    python tools/train.py configs/pcd_r18.py [--work-dir DIR] [--resume [CKPT]] [--amp]
    tools/dist_train.sh configs/pcd_r18.py 8
"""
import argparse
import os
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmpcd  # noqa: F401  (registers PCD and applies the stack fixes)
from mmpcd.engine import adopt_resumed_seed, warn_risky_settings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model (mmpcd / mmselfsup)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest one in the work dir')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision training (GPU)')
    parser.add_argument('--sync-bn', action='store_true',
                        help='convert the BNs of the model to SyncBN when distributed (GPU; sets cfg.sync_bn)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value (e.g. model.head.queue_len=4096)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """The config with the command line's overrides applied."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.sync_bn:
        cfg.sync_bn = 'torch'
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.seed is not None:
        cfg.randomness = dict(seed=args.seed)
    if not torch.cuda.is_available() and args.launcher != 'none':
        # NCCL needs GPUs: gloo runs the same job on CPUs, and DDP takes no device ids there.
        cfg.env_cfg.dist_cfg.backend = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel', broadcast_buffers=False)
        cfg.model_wrapper_cfg = dict(wrapper, device_ids=None)
    return cfg


def build_runner(args: argparse.Namespace) -> Runner:
    """The Runner of the job; on CPUs the gloo process group is started here.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device``, which fails
    without a GPU; the Runner skips it when a process group already exists.
    """
    cfg = build_config(args)
    warn_risky_settings(cfg)
    adopt_resumed_seed(cfg)
    if args.launcher == 'pytorch' and not torch.cuda.is_available() and not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    return Runner.from_cfg(cfg)


def main() -> None:
    build_runner(parse_args()).train()


if __name__ == '__main__':
    main()
