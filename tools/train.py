"""Train a PCD model (or any mmselfsup config) with mmengine's Runner (:mod:`mmpcd.apis.train`).

    python tools/train.py configs/pcd_r18.py [--work-dir DIR] [--resume [CKPT]] [--amp]
    tools/dist_train.sh configs/pcd_r18.py 8
"""
from mmpcd.apis import parse_train_args, train


def main() -> None:
    train(**vars(parse_train_args()))


if __name__ == '__main__':
    main()
