idlink::lambda_main!(user_logs);
