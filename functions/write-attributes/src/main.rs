idlink::lambda_main!(write_attributes);
