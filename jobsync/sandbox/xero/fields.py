"""Top-level field names per type, from Xero's OpenAPI schemas: a `where` naming others fails."""

from __future__ import annotations

CONTACT_FIELDS = frozenset(
    """
    accountnumber accountspayabletaxtype accountsreceivabletaxtype addresses attachments balances
    bankaccountdetails batchpayments brandingtheme companynumber contactgroups contactid contactnumber
    contactpersons contactstatus defaultcurrency discount emailaddress firstname hasattachments
    hasvalidationerrors iscustomer issupplier lastname mergedtocontactid name paymentterms phones
    purchasesdefaultaccountcode purchasesdefaultlineamounttype purchasestrackingcategories
    salesdefaultaccountcode salesdefaultlineamounttype salestrackingcategories statusattributestring
    taxnumber taxnumbertype trackingcategoryname trackingcategoryoption updateddateutc validationerrors
    website xeronetworkkey
    """.split()
)
INVOICE_FIELDS = frozenset(
    """
    amountcredited amountdue amountpaid attachments brandingthemeid cisdeduction cisrate contact
    creditnotes currencycode currencyrate date duedate expectedpaymentdate fullypaidondate
    hasattachments haserrors invoiceaddresses invoiceid invoicenumber isdiscounted lineamounttypes
    lineitems overpayments payments plannedpaymentdate prepayments reference repeatinginvoiceid
    senttocontact status statusattributestring subtotal total totaldiscount totaltax type updateddateutc
    updateddateutcstring url validationerrors warnings
    """.split()
)
ACCOUNT_FIELDS = frozenset(
    """
    accountid addtowatchlist bankaccountnumber bankaccounttype class code currencycode description
    enablepaymentstoaccount hasattachments name reportingcode reportingcodename showinexpenseclaims
    status systemaccount taxtype type updateddateutc validationerrors
    """.split()
)
TAX_RATE_FIELDS = frozenset(
    """
    canapplytoassets canapplytoequity canapplytoexpenses canapplytoliabilities canapplytorevenue
    displaytaxrate effectiverate name reporttaxtype status taxcomponents taxtype
    """.split()
)
TRACKING_CATEGORY_FIELDS = frozenset(
    """
    trackingcategoryid trackingoptionid name option status options
    """.split()
)
PAYMENT_FIELDS = frozenset(
    """
    invoice creditnote prepayment overpayment invoicenumber creditnotenumber batchpayment account code
    date currencyrate amount bankamount reference isreconciled status paymenttype updateddateutc
    updateddateutcstring paymentid batchpaymentid bankaccountnumber particulars details hasaccount
    hasvalidationerrors statusattributestring validationerrors warnings
    """.split()
)
CREDIT_NOTE_FIELDS = frozenset(
    """
    type contact date duedate status lineamounttypes lineitems subtotal totaltax total cisdeduction
    cisrate updateddateutc updateddateutcstring currencycode fullypaidondate creditnoteid
    creditnotenumber reference senttocontact currencyrate remainingcredit allocations appliedamount
    payments brandingthemeid statusattributestring hasattachments haserrors validationerrors warnings
    invoiceaddresses
    """.split()
)
