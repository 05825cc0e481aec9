from .loss_curves import chance_loss, plot_loss_curves

__all__ = ['chance_loss', 'plot_loss_curves']
