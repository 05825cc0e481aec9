"""One command per column of Table 1: export the student, fine-tune and evaluate it, over seeds.

    python tools/benchmarks/run_downstream.py voc07 work_dirs/pcd_r18/epoch_100.pth --gpus 8
    python tools/benchmarks/run_downstream.py cityscapes CKPT --gpus 8 --seeds 5

TASK is one of voc07, voc0712, coco-c4, coco-fpn, cityscapes, linear. The student backbone of CKPT (a
checkpoint of tools/train.py, its student under --prefix, 'backbone.' by default; or an export of
export_student.py, which has no 'backbone.' key and is taken whole) is exported with
tools/model_converters/export_student.py, with NormRescale 0.25 for the C4 and FCN tasks (Sec. 4.1) unless the
export records it already; before any fine-tuning, every tensor of the modules that the task's config
(with --cfg-options) initialises from the export is checked to be in it, with its shape (a module that would start
partly random is an error); each seed runs tools/dist_train.sh (or tools/train.py with --gpus 0/1) on the task's
config in WORK_DIR/seed{N}; the metrics of the final evaluation are read back and printed as a table with their
mean and standard deviation (VOC and Cityscapes: 5 seeds by default, as in the paper). If the export or a
fine-tuning fails, its own error is the message and the tool exits with its status. See docs/downstream.md.
"""
from mmpcd.benchmarks.downstream import run_downstream

if __name__ == '__main__':
    run_downstream(usage=__doc__)
