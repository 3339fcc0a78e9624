"""What the send policy answers when it refuses a send.

A refusal never says who could not be reached, or why: a name could expose a protected
person, and "blocked" would expose a block. It is always :data:`UNREACHABLE`.
"""

from __future__ import annotations

UNREACHABLE = "one or more of the recipients cannot be reached by you"
PEOPLE_ONLY = "guardians and pupils can only address people directly (a 'people' target)"
OWN_CHILDREN_ONLY = "a thread can only be marked as regarding your own children"
OUTSIDE = "the audience names a group, institution or child outside your institutions"
NO_SENDER = "this account cannot start threads"
