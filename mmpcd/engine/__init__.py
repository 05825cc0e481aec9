from .config_checks import (ConfigError, adopt_resumed_seed, check_arguments, check_cfg_options, check_collate,
                            check_epoch_length, check_ranges, check_work_dir, warn_risky_settings)
from .hooks import (BatchSizeMismatchError, DINOHook, ExplodingLossError, LossCurveHook, NonFiniteLossError,
                    NonFiniteLossHook, OnlineEvalError, OnlineEvalHook, OSSHook, ScheduleGuardHook,
                    WorldSizeMismatchError)
from .trainable_optim_constructor import TrainableOptimWrapperConstructor
from .work_dir_lock import WorkDirLockedError, work_dir_lock

__all__ = [
    'BatchSizeMismatchError', 'ConfigError', 'DINOHook', 'ExplodingLossError', 'LossCurveHook', 'NonFiniteLossError',
    'NonFiniteLossHook', 'OnlineEvalError', 'OnlineEvalHook', 'OSSHook', 'ScheduleGuardHook',
    'TrainableOptimWrapperConstructor', 'WorkDirLockedError', 'WorldSizeMismatchError', 'adopt_resumed_seed',
    'check_arguments', 'check_cfg_options', 'check_collate', 'check_epoch_length', 'check_ranges', 'check_work_dir',
    'warn_risky_settings', 'work_dir_lock'
]
