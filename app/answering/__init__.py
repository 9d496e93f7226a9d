"""The answer stage: evidence selection, the gate, prompting, follow-ups and grounding checks."""
