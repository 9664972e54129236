"""Plausible wrong solutions of assignment 1 (fully connected network) and the tests they fail."""

from tests.mutants import Mutant

MUTANTS = [
    Mutant(
        name="affine_forward_no_flatten",
        story="Multiplies x by w without first flattening each example to a row of length D.",
        cell="affine_forward",
        edits=(("x_rows = x.reshape(N, -1)  # (N, D)", "x_rows = x  # (N, D)"),),
        fails=frozenset(
            {
                "test_affine_forward_shape",
                "test_affine_forward_values",
                "test_affine_backward_shapes",
                "test_affine_backward_values",
            }
        ),
    ),
    Mutant(
        name="affine_forward_no_bias",
        story="Forgets to add the bias b in the forward pass.",
        cell="affine_forward",
        edits=(("out = x_rows @ w + b  # (N, M)", "out = x_rows @ w  # (N, M)"),),
        fails=frozenset(
            {
                "test_affine_forward_values",
                "test_affine_backward_values",
                "test_two_layer_net_scores",
                "test_two_layer_net_loss",
                "test_two_layer_net_grads",
                "test_two_layer_net_grads_reg",
            }
        ),
    ),
    Mutant(
        name="affine_backward_dx_not_reshaped",
        story="Returns dx flattened to (N, D) instead of the shape of the original x.",
        cell="affine_backward",
        edits=(("dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T"),),
        fails=frozenset({"test_affine_backward_shapes", "test_affine_backward_values"}),
    ),
    Mutant(
        name="affine_backward_dw_transposed",
        story="Computes dw as dout.T @ x, which has shape (M, D) instead of (D, M).",
        cell="affine_backward",
        edits=(("dw = x_rows.T @ dout", "dw = dout.T @ x_rows"),),
        fails=frozenset(
            {
                "test_affine_backward_shapes",
                "test_affine_backward_values",
                "test_two_layer_net_accuracy",
                "test_two_layer_net_grads",
                "test_two_layer_net_grads_reg",
                "test_two_layer_net_loss",
                "test_training_history",
            }
        ),
    ),
    Mutant(
        name="affine_backward_db_mean",
        story="Averages dout over the batch for db instead of summing it.",
        cell="affine_backward",
        edits=(("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"),),
        fails=frozenset(
            {
                "test_affine_backward_values",
                "test_two_layer_net_grads",
                "test_two_layer_net_grads_reg",
            }
        ),
    ),
    Mutant(
        name="relu_forward_in_place",
        story="Applies the ReLU in place, overwriting the caller's x.",
        cell="relu_forward",
        edits=(
            (
                "out = np.maximum(x, 0)  # same shape as x",
                "np.maximum(x, 0, out=x)  # same shape as x\n    out = x",
            ),
        ),
        fails=frozenset({"test_relu_backward", "test_relu_forward"}),
    ),
    Mutant(
        name="relu_backward_ge",
        story="Lets the gradient through where x == 0 as well (x >= 0 instead of x > 0).",
        cell="relu_backward",
        edits=(("(x > 0)", "(x >= 0)"),),
        fails=frozenset({"test_relu_backward"}),
    ),
    Mutant(
        name="relu_backward_times_output",
        story="Multiplies dout by the ReLU output instead of by the 0/1 mask.",
        cell="relu_backward",
        edits=(("dout * (x > 0)", "dout * np.maximum(x, 0)"),),
        fails=frozenset(
            {
                "test_relu_backward",
                "test_two_layer_net_accuracy",
                "test_two_layer_net_grads",
                "test_two_layer_net_grads_reg",
            }
        ),
    ),
    Mutant(
        name="softmax_no_max_shift",
        story="Exponentiates the raw scores, which overflows for large scores.",
        cell="softmax_loss",
        edits=(("shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores"),),
        fails=frozenset({"test_softmax_loss_stable"}),
    ),
    Mutant(
        name="softmax_gradient_not_averaged",
        story="Averages the loss over the batch but forgets to divide dscores by N.",
        cell="softmax_loss",
        edits=(("    dscores /= N\n", ""),),
        fails=frozenset(
            {
                "test_softmax_loss_gradient",
                "test_softmax_loss_stable",
                "test_softmax_loss_values",
                "test_two_layer_net_accuracy",
                "test_two_layer_net_grads",
                "test_two_layer_net_grads_reg",
            }
        ),
    ),
    Mutant(
        name="softmax_loss_summed",
        story="Sums the loss over the batch instead of averaging it (dscores still divided by N).",
        cell="softmax_loss",
        edits=((".mean()", ".sum()"),),
        fails=frozenset(
            {
                "test_softmax_loss_values",
                "test_softmax_loss_gradient",
                "test_softmax_loss_stable",
                "test_two_layer_net_loss",
            }
        ),
    ),
    Mutant(
        name="two_layer_net_unscaled_init",
        story="Initialises W1 with standard normal samples, ignoring weight_scale.",
        cell="two_layer_net",
        edits=(
            (
                '"W1": weight_scale * rng.standard_normal((input_dim, hidden_dim))',
                '"W1": rng.standard_normal((input_dim, hidden_dim))',
            ),
        ),
        fails=frozenset({"test_two_layer_net_init"}),
    ),
    Mutant(
        name="two_layer_net_scores_are_probabilities",
        story="Returns softmax probabilities instead of raw scores from loss(X).",
        cell="two_layer_net",
        edits=(
            (
                "if y is None:\n            return scores",
                "if y is None:\n"
                "            return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)",
            ),
        ),
        fails=frozenset({"test_two_layer_net_scores"}),
    ),
    Mutant(
        name="two_layer_net_reg_without_half",
        story="Adds reg * sum(W ** 2) to the loss, but keeps the gradient reg * W.",
        cell="two_layer_net",
        edits=(("loss += 0.5 * self.reg *", "loss += self.reg *"),),
        fails=frozenset({"test_two_layer_net_loss"}),
    ),
    Mutant(
        name="two_layer_net_no_reg_gradient",
        story="Adds the regularisation to the loss but not to the weight gradients.",
        cell="two_layer_net",
        edits=(
            ('grads["W1"] += self.reg * W1', "pass"),
            ('grads["W2"] += self.reg * W2', "pass"),
        ),
        fails=frozenset({"test_two_layer_net_grads_reg"}),
    ),
    Mutant(
        name="two_layer_net_forgets_relu",
        story="Skips the ReLU between the two affine layers in the forward pass.",
        cell="two_layer_net",
        edits=(
            (
                "hidden, relu_cache = relu_forward(hidden)  # (N, H)",
                "relu_cache = hidden  # (N, H)",
            ),
        ),
        fails=frozenset(
            {
                "test_two_layer_net_scores",
                "test_two_layer_net_loss",
                "test_two_layer_net_grads",
                "test_two_layer_net_grads_reg",
            }
        ),
    ),
    Mutant(
        name="train_one_epoch",
        story="Stops training after a single epoch.",
        cell="train",
        edits=(
            (
                "learning_rate, batch_size, num_epochs = 0.2, 32, 30",
                "learning_rate, batch_size, num_epochs = 0.2, 32, 1",
            ),
        ),
        fails=frozenset({"test_two_layer_net_accuracy"}),
    ),
    Mutant(
        name="train_history_batch_accuracy",
        story="Records the accuracy on the last minibatch under history['val_acc'].",
        cell="train",
        edits=(
            (
                'history["val_acc"].append(np.mean(np.argmax(model.loss(X_val), axis=1) == y_val))',
                'history["val_acc"].append(\n'
                "        np.mean(np.argmax(model.loss(X_train[batch]), axis=1) == y_train[batch])\n"
                "    )",
            ),
        ),
        fails=frozenset({"test_training_history"}),
    ),
    Mutant(
        name="affine_backward_drops_db",
        story="Leaves db out of the returned values for inputs with more than three axes.",
        cell="affine_backward",
        edits=(("return dx, dw, db", "return (dx, dw, db) if x.ndim < 4 else (dx, dw)"),),
        fails=frozenset({"test_affine_backward_shapes", "test_affine_backward_values"}),
    ),
    Mutant(
        name="softmax_log_of_probabilities",
        story="Subtracts the maximum, but takes the log of the probabilities: log(0) = -inf.",
        cell="softmax_loss",
        edits=(
            (
                "log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
                "log_probs = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))",
            ),
        ),
        fails=frozenset({"test_softmax_loss_stable"}),
    ),
    Mutant(
        name="softmax_shifts_scores_in_place",
        story="Subtracts each row's maximum from the caller's scores array in place.",
        cell="softmax_loss",
        edits=(
            (
                "shifted = scores - scores.max(axis=1, keepdims=True)",
                "scores -= scores.max(axis=1, keepdims=True)\n    shifted = scores",
            ),
        ),
        fails=frozenset(
            {"test_softmax_loss_values", "test_softmax_loss_gradient", "test_softmax_loss_stable"}
        ),
    ),
    Mutant(
        name="two_layer_net_regularises_biases",
        story="Adds the biases to the L2 regularisation, in the loss and in their gradients.",
        cell="two_layer_net",
        edits=(
            ("np.sum(W2**2))", "np.sum(W2**2) + np.sum(b1**2) + np.sum(b2**2))"),
            (
                'grads["W2"] += self.reg * W2',
                'grads["W2"] += self.reg * W2\n'
                '        grads["b1"] += self.reg * b1\n'
                '        grads["b2"] += self.reg * b2',
            ),
        ),
        fails=frozenset({"test_two_layer_net_loss", "test_two_layer_net_grads_reg"}),
    ),
]
