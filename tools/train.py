"""Train a PCD model (or any mmselfsup config) with mmengine's Runner (:mod:`mmpcd.apis.train`).

    python tools/train.py configs/pcd_r18.py [--work-dir DIR] [--resume [CKPT]] [--amp]
    tools/dist_train.sh configs/pcd_r18.py 8
"""
from mmpcd.apis import build_runner, parse_train_args


def main() -> None:
    build_runner(**vars(parse_train_args())).train()


if __name__ == '__main__':
    main()
