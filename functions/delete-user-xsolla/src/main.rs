idlink::lambda_main!(delete_user_xsolla);
