idlink::lambda_main!(auth_custom_id);
