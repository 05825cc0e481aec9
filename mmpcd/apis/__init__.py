from .train import build_config, build_runner, parse_train_args, runner_from_config, train

__all__ = ['build_config', 'build_runner', 'parse_train_args', 'runner_from_config', 'train']
