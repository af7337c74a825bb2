"""The words ``reportgen init`` reads exports by: header phrases per canonical column, file-name hints,
stage words, dimension words and currency marks. Kept apart from the matching in ``infer`` so the
vocabulary can grow (another CRM's column names, another language) without touching the rules."""
from __future__ import annotations

#: Header phrases per canonical column (normalised: lower case, words split on anything else).
SYNONYMS: dict[str, tuple[str, ...]] = {  # with the common German, French and Spanish words
    "deal_id": ("deal id", "opportunity id", "opportunity", "order id", "ordernumber", "order number", "order no",
                "deal", "record id", "id"),
    "lead_id": ("lead id", "lead", "contact id", "prospect id", "id"),
    "activity_id": ("activity id", "task id", "id"),
    "ticket_id": ("ticket id", "case id", "ticket", "id"),
    "created_date": ("created date", "create date", "date created", "creation date", "created", "created at",
                     "engage date", "open date", "opened", "order date", "orderdate"),
    "close_date": ("close date", "closed date", "closing date", "won date", "closed at", "close"),
    "start_date": ("start date", "started", "subscription start", "start", "activation date", "signup date"),
    "end_date": ("end date", "ended", "cancel date", "cancellation date", "churn date", "end", "canceled at"),
    "date": ("date", "day", "spend date", "activity date", "datum", "fecha"),
    "response_date": ("response date", "responded", "survey date", "date"),
    "first_contact_at": ("first contact", "first contacted", "first touch", "first response", "contacted at"),
    "converted_date": ("converted date", "conversion date", "converted"),
    "stage": ("stage", "deal stage", "opportunity stage", "status", "state"),
    "amount": ("amount", "deal value", "close value", "value", "sales", "revenue", "bookings amount", "bookings",
               "total", "deal amount", "spend", "cost", "betrag", "umsatz", "montant", "importe"),
    "mrr": ("mrr", "monthly recurring revenue", "monthly amount", "monthly fee", "amount"),
    "profit": ("profit", "gross profit", "margin"),
    "rep": ("rep", "sales rep", "sales agent", "agent", "owner", "account owner", "salesperson", "sales person",
            "seller", "assigned to"),
    "region": ("region", "territory", "regional office", "area", "zone", "market"),
    "product": ("product", "product line", "productline", "category", "product category", "plan"),
    "source": ("source", "lead source", "utm medium", "utm source", "medium", "channel", "origin", "kanal", "quelle"),
    "channel": ("channel", "utm medium", "platform", "medium", "source", "kanal", "canal"),
    "customer_id": ("customer id", "customer", "customername", "customer name", "account", "account id",
                    "account name", "company", "client", "kunde"),
    "category": ("category", "department", "function", "cost type"),
    "type": ("type", "activity type", "survey type", "kind"),
    "score": ("score", "rating", "nps", "csat"),
    "quote_date": ("quote date", "quoted", "quote sent"),
}
#: File-name words that point at a canonical dataset.
FILE_HINTS: dict[str, tuple[str, ...]] = {
    "deals": ("deal", "pipeline", "opportunit", "booking", "order", "sales", "won"),
    "leads": ("lead",), "subscriptions": ("subscri", "mrr", "billing", "plan"),
    "spend": ("spend", "cost", "ads", "media"), "activities": ("activit", "call", "task"),
    "tickets": ("ticket", "support", "case"), "surveys": ("survey", "nps", "csat", "feedback"),
}
#: Datasets ``init`` places (targets, timesheets and forecasts are plans and timesheets people write for reportgen).
PLACEABLE = ("deals", "leads", "subscriptions", "spend", "activities", "tickets", "surveys")
#: Words that make a file an order list when it has no stage column: every row is a won sale.
ORDER_WORDS = ("order", "sales", "invoice", "booking", "won", "revenue", "transaction")
STAGE_WORDS: dict[str, tuple[str, ...]] = {
    "won": ("won", "win", "shipped", "resolved", "delivered", "complete", "completed", "paid", "invoiced", "booked",
            "signed", "fulfilled", "closedwon"),
    "lost": ("lost", "cancelled", "canceled", "cancel", "rejected", "declined", "dead", "disqualified", "churned",
             "refunded", "returned", "void", "abandoned", "closedlost"),
    "open": ("open", "engaging", "prospecting", "prospect", "qualification", "qualified", "qualify", "proposal",
             "negotiation", "discovery", "demo", "process", "progress", "hold", "pending", "disputed", "new",
             "contacted", "evaluation", "working", "nurture", "quote", "quoted", "review", "commit", "pipeline"),
}
#: The canonical breakdown dimensions.
DIMENSIONS = ("region", "rep", "product", "source")
#: Words of a column worth breaking the KPIs down by, beyond region, rep, product and source.
DIMENSION_WORDS = ("segment", "size", "tier", "industry", "sector", "team", "manager", "country")
CURRENCY_MARKS = {"R$": "BRL", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
