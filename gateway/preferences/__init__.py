"""Per person × category × channel notification preferences; quiet and working hours."""
