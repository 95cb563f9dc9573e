"""Is a packet ready to send? `lint_packet` reads a packet folder the way a compliance reviewer
would and says every reason it is still a draft; `appeals lint` is its command, and `appeals
run` records the answer. Sits above render (it reads rendered files); no stage imports it."""

from appeals.lint.checks import LETTERS_NOT_SENT, Problem, lint_folder, lint_packet, readiness

__all__ = ["LETTERS_NOT_SENT", "Problem", "lint_folder", "lint_packet", "readiness"]
