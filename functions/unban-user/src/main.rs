idlink::lambda_main!(unban_user);
