"""Safety battery: probe sets, scorers, statistics and the battery that runs them.

Heavy libraries (pandas, Great Expectations, profanity-check, VADER) are imported inside
the functions that use them, so importing this package stays cheap.
"""
