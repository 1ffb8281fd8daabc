"""The pure core: values in, values out. Money, terms, templates, rules, pricing, billing, the plan, contact
matching, watermark arithmetic. No I/O.
"""
