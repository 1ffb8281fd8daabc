"""The columns simPRO's API reference documents for each resource the emulator serves, and the few a
list returns when no `columns=` is asked for. A request naming any other column is refused with 422,
as simPRO does, so a connector cannot lean on a column the real API lacks.
"""

from __future__ import annotations

# Documented columns per resource (simPRO reference); `columns=` may name only these.
_ITEM_COMMON = {"ID", "BillableStatus", "SalesTaxCode", "Discount", "SellPrice", "Total", "DateModified"}
COLUMNS: dict[str, set[str]] = {
    "jobs": {
        "ID",
        "Type",
        "Customer",
        "CustomerContract",
        "CustomerContact",
        "Site",
        "SiteContact",
        "OrderNo",
        "RequestNo",
        "Name",
        "Description",
        "Notes",
        "DateIssued",
        "DueDate",
        "Tags",
        "Salesperson",
        "ProjectManager",
        "Technicians",
        "Stage",
        "Status",
        "DateModified",
        "Total",
        "Totals",
        "CustomFields",
        "CompletedDate",
        "ConvertedFromQuote",
    },
    "sections": {"ID", "Name", "Description", "DisplayOrder", "DateModified"},
    # GET /jobCostCenters/: every cost centre of every job, each naming its job and section.
    "jobCostCenters": {"ID", "CostCenter", "Name", "Job", "Section", "DateModified", "_href"},
    "costCenters": {"ID", "Name", "CostCenter", "DisplayOrder", "Total", "DateModified"},
    "catalogs": _ITEM_COMMON | {"Catalog", "BillableItem", "BasePrice", "Markup", "DisplayOrder", "IncomeAccount"},
    "labor": _ITEM_COMMON | {"LaborType", "LaborRate", "ProjectedTime", "Ticked", "IncomeAccount"},
    "oneOffs": _ITEM_COMMON | {"Type", "Billable", "PartNo", "Description", "Vendor", "DisplayOrder"},
    "prebuilds": _ITEM_COMMON | {"Prebuild", "BillableItem", "BasePrice", "Markup", "DisplayOrder"},
    "serviceFees": _ITEM_COMMON | {"ServiceFee", "BillableItem", "BasePrice", "Markup", "DisplayOrder"},
    "contractorJobs": {"ID", "Contractor", "Status", "Description", "DateIssued", "TaxCode", "Total", "Items"},
    "companies": {"ID", "CompanyName", "Phone", "AltPhone", "Email", "Address", "BillingAddress", "DateModified"},
    "individuals": {
        "ID",
        "Title",
        "GivenName",
        "FamilyName",
        "Phone",
        "AltPhone",
        "Email",
        "Address",
        "BillingAddress",
        "DateModified",
    },
}
THIN = {
    "jobs": ("ID", "Description", "Total"),
    "sections": ("ID", "Name"),
    "costCenters": ("ID", "Name"),
    "jobCostCenters": ("ID", "Name", "Job", "Section", "_href"),
    "catalogs": ("ID", "Catalog"),
    "labor": ("ID", "LaborType"),
    "oneOffs": ("ID", "Description"),
    "prebuilds": ("ID", "Prebuild"),
    "serviceFees": ("ID", "ServiceFee"),
    "contractorJobs": ("ID", "Contractor"),
    "companies": ("ID", "CompanyName"),
    "individuals": ("ID", "GivenName", "FamilyName"),
}
