from .train import build_config, build_runner, parse_train_args

__all__ = ['build_config', 'build_runner', 'parse_train_args']
