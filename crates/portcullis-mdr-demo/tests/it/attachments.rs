//! Attachments: upload and download, and the upload's failure modes.

use crate::common::*;
use crate::harness::PASSWORD;
use crate::harness::mdr::multipart;
use crate::on_both_backends_configured;
use axum::http::StatusCode;
use serde_json::json;

/// Row 24: upload and download; the upload's failure modes.
async fn attachments(builder: crate::harness::Builder) {
    let Some(app) = builder
        .config(|c| c.mdr.attachments.max_size = 4096)
        .build()
        .await
    else {
        return;
    };
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let c = &w.admin;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let up = upload(
        &app,
        c,
        Some(&json!({"incident_id": inc, "caption": "pcap"})),
        Some(("capture.pcap", &bytes)),
    )
    .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text());
    assert_eq!(up.header("cache-control").as_deref(), Some("no-store"));
    let att = up.json();
    assert_eq!(att["file_size"], json!(4096));
    assert_eq!(att["full_name"], json!("capture.pcap"));
    assert_eq!(att["author_name"], json!("SIEM export"));
    assert_eq!(att["attachment_id"].as_str().unwrap().len(), 20);
    let dl = app
        .mdr(
            c,
            "attachments/download",
            &json!({"attachment_id": att["attachment_id"]}),
        )
        .await;
    assert_eq!(dl.status, StatusCode::OK);
    assert_eq!(dl.body, bytes, "download bytes identical to upload");
    assert_eq!(
        dl.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        dl.header("content-disposition").as_deref(),
        Some("attachment; filename=\"capture.pcap\"")
    );
    assert_eq!(dl.header("cache-control").as_deref(), Some("no-store"));
    let list = app
        .mdr_ok(c, "attachments/list", &json!({"incident_id": inc}))
        .await;
    assert_eq!(list, json!([att]));
    let details = app
        .mdr_ok(c, "incidents/details", &json!({"incident_id": inc}))
        .await;
    assert_eq!(details["attachments"], json!([att]));

    let too_big = vec![7u8; 4097];
    assert_error(
        &upload(
            &app,
            c,
            Some(&json!({"incident_id": inc})),
            Some(("big.bin", &too_big)),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "attachment too large",
    );
    let huge = vec![7u8; 200_000];
    assert_error(
        &upload(
            &app,
            c,
            Some(&json!({"incident_id": inc})),
            Some(("huge.bin", &huge)),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "attachment too large",
    );
    assert_error(
        &upload(&app, c, Some(&json!({"incident_id": inc})), None).await,
        StatusCode::BAD_REQUEST,
        "'file' is required",
    );
    assert_error(
        &upload(&app, c, None, Some(("a", b"a"))).await,
        StatusCode::BAD_REQUEST,
        "'meta' is required",
    );
    assert_error(
        &upload(&app, c, Some(&json!({"caption": "x"})), Some(("a", b"a"))).await,
        StatusCode::BAD_REQUEST,
        "'incident_id' is required",
    );
    assert_error(
        &upload(
            &app,
            c,
            Some(&json!({"incident_id": "nope"})),
            Some(("a", b"a")),
        )
        .await,
        StatusCode::NOT_FOUND,
        "incident not found",
    );
    let json_upload = app
        .mdr(c, "attachments/upload", &json!({"incident_id": inc}))
        .await;
    assert_error(
        &json_upload,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported content type",
    );
    assert_error(
        &app.mdr(
            c,
            "attachments/download",
            &json!({"attachment_id": "AAAAAAAAAAAAAAAAAAAA"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "attachment not found",
    );
    // Multipart on a JSON method is still refused.
    let r = app
        .post(&format!("/api/v1/{}/assets/list", w.client_id))
        .bearer(&c.access_token)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(BOUNDARY, &[("meta", None, b"{}")]))
        .send()
        .await;
    assert_error(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported content type",
    );
    // A path in the file name is dropped; the SOC side uploads too.
    let up = upload(
        &app,
        c,
        Some(&json!({"incident_id": inc})),
        Some(("../../etc/passwd", b"root")),
    )
    .await;
    assert_eq!(up.json()["full_name"], json!("passwd"));
    let soc = app
        .post(&format!(
            "/console/api/mdr/customers/{}/soc/incidents/{inc}/attachments",
            w.client_id
        ))
        .basic("admin", PASSWORD)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(
            BOUNDARY,
            &[
                ("meta", None, br#"{"caption": "SOC report"}"#),
                ("file", Some("report.pdf"), b"%PDF"),
            ],
        ))
        .send()
        .await;
    assert_eq!(soc.status, StatusCode::CREATED, "{}", soc.text());
    let soc = soc.json();
    assert_eq!(
        (
            soc["origin"].clone(),
            soc["was_read"].clone(),
            soc["caption"].clone()
        ),
        (json!("soc"), json!(false), json!("SOC report"))
    );
}

on_both_backends_configured!(attachments);
