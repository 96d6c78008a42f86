"""The training step every tutorial writes, as a function of its model, loss and optimizer (shared by the
compiled-step tests)."""


def tutorial_step(model, loss_fn, optimizer):
    """``step(x, y)``: zero_grad, forward, loss, backward, optimizer step; returns the loss."""
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step
