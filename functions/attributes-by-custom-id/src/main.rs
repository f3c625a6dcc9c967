idlink::lambda_main!(attributes_by_custom_id);
