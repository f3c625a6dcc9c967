idlink::lambda_main!(link_external_id);
