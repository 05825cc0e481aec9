"""Write a teacher checkpoint with RANDOM weights in a released key layout.

For demos and pipeline tests only: training from it teaches the student
nothing, and loading it logs "THE TEACHER IS RANDOM". An existing file
(a released teacher?) is never replaced without --force.

    python tools/misc/make_random_teacher.py work_dirs/teachers/mocov3_r50_random.pth.tar
"""
import argparse

import torch

from mmpcd.fileio import atomic_write, check_new_output
from mmpcd.models.teachers import TEACHER_FORMATS
from mmpcd.testing import random_teacher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out', help='output checkpoint path')
    parser.add_argument('--format', default='mocov3', choices=sorted(TEACHER_FORMATS),
                        help='released key layout to imitate')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--force', action='store_true', help='replace an existing output file')
    args = parser.parse_args()
    if not args.force:
        try:
            check_new_output(args.out, f'a teacher with RANDOM weights ({args.format} layout)')
        except FileExistsError as err:
            parser.error(str(err))
    with atomic_write(args.out) as f:
        torch.save(random_teacher(args.format, args.seed), f)
    print(f'wrote a RANDOM {args.format} teacher checkpoint to {args.out}')


if __name__ == '__main__':
    main()
