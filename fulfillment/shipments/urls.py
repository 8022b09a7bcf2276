from django.urls import path

from . import views

app_name = "shipments"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("queue/list/", views.queue_list, name="queue_list"),
    path("open/", views.open_shipment, name="open"),
    path("sync/", views.sync, name="sync"),
    path("commands/sheet.pdf", views.command_sheet, name="command_sheet"),
    path("labels/<int:document_id>/preview/", views.supervisor_label_preview, name="supervisor_label_preview"),
    path("<str:amazon_id>/", views.detail, name="detail"),
    path("<str:amazon_id>/body/", views.body, name="body"),
    path("<str:amazon_id>/header/", views.header, name="header"),
    path("<str:amazon_id>/steps/<int:step_id>/", views.step_status, name="step"),
    path("<str:amazon_id>/chain/", views.chain_status, name="chain"),
    path("<str:amazon_id>/run/<str:kind>/", views.run_step, name="run"),
    path("<str:amazon_id>/reject/", views.reject, name="reject"),
    path("<str:amazon_id>/mfn/label-check/", views.mfn_label_check, name="mfn_label_check"),
    path("<str:amazon_id>/mfn/<str:kind>/", views.mfn_step, name="mfn_step"),
    path("<str:amazon_id>/verify/", views.verify, name="verify"),
    path("<str:amazon_id>/verify/skip/", views.skip_verification, name="skip_verification"),
    path("<str:amazon_id>/packages/", views.packages, name="packages"),
    path("<str:amazon_id>/packages/check-serial/", views.check_serial, name="check_serial"),
    path("<str:amazon_id>/shipping-option/", views.choose_option, name="choose_option"),
    path("<str:amazon_id>/labels/regenerate/", views.regenerate_labels, name="regenerate_labels"),
    path("<str:amazon_id>/labels/print/", views.print_all_labels, name="print_all_labels"),
    path("<str:amazon_id>/scale/", views.scale_reading, name="scale"),
    path("<str:amazon_id>/scan/", views.scan, name="scan"),
    path("<str:amazon_id>/documents/<int:document_id>/preview/", views.label_preview, name="label_preview"),
    path("<str:amazon_id>/documents/<int:document_id>/print-here/", views.print_document, name="print_document"),
    path("<str:amazon_id>/pack-and-label/", views.pack_and_label, name="pack_and_label"),
    path("<str:amazon_id>/packing-slip/", views.packing_slip, name="packing_slip"),
    path("<str:amazon_id>/documents/<int:document_id>/pdf/", views.document_pdf, name="document_pdf"),
    path("<str:amazon_id>/documents/<int:document_id>/download/", views.document_download, name="document_download"),
    path("<str:amazon_id>/documents/<int:document_id>/print/", views.print_label, name="print_label"),
    path("<str:amazon_id>/documents/<int:document_id>/printed/", views.label_printed, name="label_printed"),
]
