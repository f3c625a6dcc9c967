idlink::lambda_main!(ban_user);
