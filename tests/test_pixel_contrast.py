"""pixel_contrast_loss against a slow reference written from eq. 3-4, and the queue of the head."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmpcd.models import PixelContrastHead, pixel_contrast_loss


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


@pytest.mark.parametrize('temperature', [0.2, 0.07, 1.0])
def test_loss_and_gradient_match_reference(temperature):
    torch.manual_seed(0)
    student = torch.randn(2, 8, 3, 4, dtype=torch.float64, requires_grad=True)
    teacher = torch.randn(2, 8, 3, 4, dtype=torch.float64)
    queue = F.normalize(torch.randn(8, 5, dtype=torch.float64), dim=0)
    loss = pixel_contrast_loss(student, teacher, queue, temperature)
    expected = reference_loss(student, teacher, queue, temperature)
    torch.testing.assert_close(loss, expected, rtol=1e-10, atol=1e-10)
    grad, = torch.autograd.grad(loss, student)
    expected_grad, = torch.autograd.grad(expected, student)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


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


def test_queue_length_not_divisible_is_a_clear_error():
    head = PixelContrastHead(queue_len=10, feat_dim=4)
    with pytest.raises(ValueError, match='queue_len=10 is not divisible by the 4 teacher maps'):
        head.enqueue(torch.randn(4, 4, 2, 2))
    assert int(head.queue_ptr) == 0
