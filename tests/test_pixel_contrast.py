"""pixel_contrast_loss against a slow reference written from eq. 3-4, and the queue of the head."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmpcd.models import PixelContrastHead, pixel_contrast_loss, pixel_contrast_loss_dense


def reference_loss(student, teacher, queue, temperature):
    """Eq. 4 pixel by pixel, eq. 3 averaged over the pixels, then over the batch."""
    n, _, h, w = student.shape
    per_image = []
    for b in range(n):
        total = 0.
        for y in range(h):
            for x in range(w):
                s = student[b, :, y, x] / student[b, :, y, x].norm()
                t = teacher[b, :, y, x] / teacher[b, :, y, x].norm()
                pos = torch.exp(s @ t / temperature)
                neg = sum(torch.exp(s @ queue[:, k] / temperature) for k in range(queue.shape[1]))
                total = total - torch.log(pos / (pos + neg))
        per_image.append(total / (h * w))
    return sum(per_image) / n


@pytest.mark.parametrize('loss_fn', [pixel_contrast_loss, pixel_contrast_loss_dense])
@pytest.mark.parametrize('temperature', [0.2, 0.07, 1.0])
def test_loss_and_gradient_match_reference(loss_fn, temperature):
    torch.manual_seed(0)
    student = torch.randn(2, 8, 3, 4, dtype=torch.float64, requires_grad=True)
    teacher = torch.randn(2, 8, 3, 4, dtype=torch.float64)
    queue = F.normalize(torch.randn(8, 5, dtype=torch.float64), dim=0)
    loss = loss_fn(student, teacher, queue, temperature)
    expected = reference_loss(student, teacher, queue, temperature)
    torch.testing.assert_close(loss, expected, rtol=1e-10, atol=1e-10)
    grad, = torch.autograd.grad(loss, student)
    expected_grad, = torch.autograd.grad(expected, student)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('chunk_size', [None, 1, 7, 100, 10**6])
def test_streamed_loss_matches_dense_in_fp32(chunk_size):
    torch.manual_seed(0)
    student = torch.randn(4, 256, 7, 7, requires_grad=True)
    teacher, queue = torch.randn(4, 256, 7, 7), F.normalize(torch.randn(256, 4096), dim=0)
    dense = pixel_contrast_loss_dense(student, teacher, queue, 0.2)
    dense_grad, = torch.autograd.grad(dense * 3., student)
    streamed = pixel_contrast_loss(student, teacher, queue, 0.2, chunk_size=chunk_size)
    streamed_grad, = torch.autograd.grad(streamed * 3., student)  # the incoming gradient is applied
    torch.testing.assert_close(streamed, dense, rtol=1e-5, atol=0)
    torch.testing.assert_close(streamed_grad, dense_grad, rtol=1e-5, atol=1e-5 * dense_grad.abs().max().item())


def _saved_bytes(fn) -> int:
    sizes = []

    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(sizes)


def test_streamed_loss_saves_no_logits_for_backward():
    n, c, k = 2, 32, 8192
    student = torch.randn(n, c, 7, 7, requires_grad=True)
    teacher, queue = torch.randn(n, c, 7, 7), F.normalize(torch.randn(c, k), dim=0)
    logits_bytes = n * 49 * k * 4
    assert _saved_bytes(lambda: pixel_contrast_loss_dense(student, teacher, queue)) > logits_bytes
    # what is saved is a few (N*H*W, C) tensors: the normalization's and the gradient
    assert _saved_bytes(lambda: pixel_contrast_loss(student, teacher, queue)) < 8 * n * 49 * c * 4 < logits_bytes / 20


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_streamed_loss_under_autocast(dtype):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(16, 64, 1)
    x, teacher = torch.randn(2, 16, 5, 5), torch.randn(2, 64, 5, 5)
    queue = F.normalize(torch.randn(64, 1024), dim=0)
    expected = pixel_contrast_loss_dense(conv(x), teacher, queue)
    expected_grad, = torch.autograd.grad(expected, conv.weight)
    with torch.autocast('cpu', dtype=dtype):
        student = conv(x)
        assert student.dtype == dtype
        loss = pixel_contrast_loss(student, teacher, queue)
    assert loss.dtype == torch.float32
    grad, = torch.autograd.grad(loss, conv.weight)
    torch.testing.assert_close(loss, expected, rtol=2e-2, atol=0)
    torch.testing.assert_close(grad, expected_grad, rtol=0.1, atol=0.05 * expected_grad.abs().max().item())


#: Measured against the fp64 loss (N=4, 7x7, C=256, CPU; K=16384 for random and student-near-teacher maps, 65536 for
#: the collapsed queue): relative error of the loss at most 4.5e-5 (bf16) / 3.4e-6 (fp16); of the gradient (norm)
#: 2.0e-4 / 2.5e-5, and 1.4e-3 / 1.6e-4 with the collapsed queue.
MIXED_TOLERANCE = {torch.bfloat16: (5e-4, 2e-3), torch.float16: (5e-5, 3e-4)}


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
@pytest.mark.parametrize('maps', ['random', 'student near teacher', 'collapsed queue'])
def test_mixed_precision_loss_matches_fp64(dtype, maps):
    """Under autocast an fp32 student map still gets half-precision products and
    element-wise work; the loss and gradient stay within the measured tolerance of the fp64 loss, and a queue whose
    65536 entries are all the student's direction (the largest sum the gradient's product can form) does not
    overflow fp16."""
    torch.manual_seed(0)
    k = 65536 if maps == 'collapsed queue' else 16384
    student, teacher = torch.randn(4, 256, 7, 7, dtype=torch.float64), torch.randn(4, 256, 7, 7, dtype=torch.float64)
    queue = F.normalize(torch.randn(256, k, dtype=torch.float64), dim=0)
    if maps == 'student near teacher':
        student = teacher + 0.5 * student
    elif maps == 'collapsed queue':
        queue = F.normalize(student.mean(dim=(0, 2, 3)), dim=0)[:, None].expand(-1, k).contiguous()
    s64 = student.clone().requires_grad_()
    expected = pixel_contrast_loss_dense(s64, teacher, queue)
    expected_grad, = torch.autograd.grad(expected, s64)
    s32 = student.float().requires_grad_()
    fp32 = pixel_contrast_loss(s32, teacher.float(), queue.float())
    with torch.autocast('cpu', dtype=dtype):
        loss = pixel_contrast_loss(s32, teacher.float(), queue.float())
    grad, = torch.autograd.grad(loss, s32)
    assert loss.dtype == torch.float32 and loss.item() != fp32.item()  # the half-precision path ran
    loss_tol, grad_tol = MIXED_TOLERANCE[dtype]
    assert abs(loss.item() - expected.item()) <= loss_tol * expected.item()
    assert torch.isfinite(grad).all()
    assert ((grad.double() - expected_grad).norm() / expected_grad.norm()).item() <= grad_tol


def test_no_gradient_work_without_grad():
    student, teacher = torch.randn(1, 8, 2, 2, requires_grad=True), torch.randn(1, 8, 2, 2)
    queue = F.normalize(torch.randn(8, 16), dim=0)
    with torch.no_grad():
        loss = pixel_contrast_loss(student, teacher, queue)
    assert not loss.requires_grad
    torch.testing.assert_close(loss, pixel_contrast_loss_dense(student, teacher, queue).detach())


def test_loss_pairs_corresponding_pixels():
    """Matching the teacher pixel by pixel beats matching it with its pixels shuffled."""
    torch.manual_seed(0)
    teacher = torch.randn(2, 16, 4, 4)
    queue = F.normalize(torch.randn(16, 32), dim=0)
    aligned = pixel_contrast_loss(teacher, teacher, queue, 0.2)
    shuffled = pixel_contrast_loss(teacher.flip(2, 3), teacher, queue, 0.2)
    assert aligned < shuffled
    # with every similarity equal the loss is log(K + 1)
    flat = pixel_contrast_loss(torch.ones(1, 4, 2, 2), torch.ones(1, 4, 2, 2), torch.full((4, 7), 0.5), 1.)
    torch.testing.assert_close(flat, torch.tensor(math.log(8.)))


def test_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match='resize'):
        pixel_contrast_loss(torch.randn(1, 4, 2, 2), torch.randn(1, 4, 3, 3), torch.randn(4, 5))
    with pytest.raises(ValueError, match='queue'):
        pixel_contrast_loss(torch.randn(1, 4, 2, 2), torch.randn(1, 4, 2, 2), torch.randn(5, 4))


def test_head_resizes_teacher_bilinearly():
    torch.manual_seed(0)
    head = PixelContrastHead(queue_len=16, feat_dim=8, temperature=0.2)
    student, teacher = torch.randn(2, 8, 4, 4), torch.randn(2, 8, 7, 7)
    resized = F.interpolate(teacher, size=(4, 4), mode='bilinear', align_corners=False)
    torch.testing.assert_close(head.loss(student, teacher), pixel_contrast_loss(student, resized, head.queue, 0.2))


def test_queue_pointer_contents_and_wraparound():
    torch.manual_seed(0)
    head = PixelContrastHead(queue_len=6, feat_dim=4)
    initial = head.queue.clone()
    torch.testing.assert_close(initial.norm(dim=0), torch.ones(6))  # starts ℓ2-normalized
    first = torch.randn(2, 4, 3, 3)
    head.enqueue(first)
    assert int(head.queue_ptr) == 2
    expected_first = F.normalize(first.mean(dim=(2, 3)), dim=1).t()  # pooled, then normalized
    torch.testing.assert_close(head.queue[:, :2], expected_first)
    torch.testing.assert_close(head.queue[:, 2:], initial[:, 2:])
    second, third = torch.randn(2, 4, 5, 5), torch.randn(2, 4, 2, 2)
    head.enqueue(second)
    head.enqueue(third)
    assert int(head.queue_ptr) == 0  # wrapped around
    fourth = torch.randn(2, 4, 3, 3)
    head.enqueue(fourth)
    assert int(head.queue_ptr) == 2
    torch.testing.assert_close(head.queue[:, :2], F.normalize(fourth.mean(dim=(2, 3)), dim=1).t())
    torch.testing.assert_close(head.queue[:, 2:4], F.normalize(second.mean(dim=(2, 3)), dim=1).t())


def test_queue_is_a_ring_buffer_for_any_number_of_keys():
    """Batches that do not divide the queue (a short last batch) and batches longer than it, against a
    reference ring buffer written key by key."""
    torch.manual_seed(0)
    head = PixelContrastHead(queue_len=10, feat_dim=4)
    reference, ptr = head.queue.clone(), 0
    for n in (4, 4, 3, 1, 7, 13, 10, 2):
        maps = torch.randn(n, 4, 2, 2)
        head.enqueue(maps)
        for key in F.normalize(maps.mean(dim=(2, 3)), dim=1):
            reference[:, ptr] = key
            ptr = (ptr + 1) % 10
        assert int(head.queue_ptr) == ptr
        torch.testing.assert_close(head.queue, reference)
