"""The entry/exit rule for Python callbacks, identical to vectorised signals and nb_act."""

from dsta.quant.strategy import Context


def act(
    ctx: Context, symbol: int, long_in: bool, long_out: bool, short_in: bool, short_out: bool
) -> None:
    """Order as :class:`~dsta.quant.signals.Signals` would for these conditions at this bar.

    Conflicting signals cancel out; an entry is ignored while its side is held; an opposite
    entry reverses; an exit closes only its own side. Reads the position only when a signal
    fires, so quiet bars cost no account synchronisation.
    """
    entry = 0
    if long_in and not long_out and not short_in:
        entry = 1
    elif short_in and not short_out and not long_in:
        entry = -1
    if entry == 0 and not ((long_out and not long_in) or (short_out and not short_in)):
        return
    position = ctx.position(symbol)
    if entry > 0 and position <= 0.0:
        ctx.order_target(1.0, symbol=symbol)
    elif entry < 0 and position >= 0.0:
        ctx.order_target(-1.0, symbol=symbol)
    elif entry == 0 and (
        (position > 0.0 and long_out and not long_in)
        or (position < 0.0 and short_out and not short_in)
    ):
        ctx.order_target(0.0, symbol=symbol)
