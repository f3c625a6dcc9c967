idlink::lambda_main!(change_custom_id);
