"""COCO instance annotations (one object an image) from the label maps of a dense data set, for mmdet.

    python tools/dataset_converters/label_maps_to_coco.py data/pets_mini      # -> data/pets_mini/annotations/
    python tools/dataset_converters/label_maps_to_coco.py MY_DATA --splits train val --out-dir MY_DATA/annotations

DATA_ROOT is laid out as data/pets_mini: classes.txt (one name a line, index = label value, 0 the background) and
{split}/images/*.jpg with {split}/labels/*.png of the same stem (255: the border band). Each split gives
OUT_DIR/instances_{split}.json: every image with one annotation, its category the image's one foreground class, its
mask (RLE) that class's pixels and the border band, its box the mask's extent. See docs/own_data.md and
docs/finetune_benchmark.md.
"""
import argparse
import os.path as osp

from mmpcd.datasets.label_maps_to_coco import label_maps_to_coco, write_coco


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('data_root', help='dense data set: classes.txt, {split}/images, {split}/labels')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--out-dir', default=None, help='default: DATA_ROOT/annotations')
    args = parser.parse_args()
    out_dir = args.out_dir or osp.join(args.data_root, 'annotations')
    for split in args.splits:
        coco = label_maps_to_coco(args.data_root, split)
        path = osp.join(out_dir, f'instances_{split}.json')
        write_coco(coco, path)
        print(f'wrote {path}: {len(coco["images"])} images, {len(coco["annotations"])} objects')


if __name__ == '__main__':
    main()
