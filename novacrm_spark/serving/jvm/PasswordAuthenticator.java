// `novacrm serve`'s password check, as HiveServer2's CUSTOM authentication provider
// (hive.server2.authentication=CUSTOM): compiled at run time by Spark's Janino, see
// novacrm_spark/serving/auth.py. Only digests are kept, and compared in constant time.

import javax.security.sasl.AuthenticationException;

public class PasswordAuthenticator implements org.apache.hive.service.auth.PasswdAuthenticationProvider {
    private static byte[] userDigest, passwordDigest;

    /** Set once by the serving process before the server starts. */
    public static void expect(String user, String password) throws Exception {
        userDigest = digest(user);
        passwordDigest = digest(password);
    }

    public void Authenticate(String user, String password) throws AuthenticationException {
        byte[] givenUser, givenPassword;
        try {
            givenUser = digest(user == null ? "" : user);
            givenPassword = digest(password == null ? "" : password);
        } catch (Exception e) {
            throw new AuthenticationException("cannot check the credentials");
        }
        boolean userOk = userDigest != null && java.security.MessageDigest.isEqual(userDigest, givenUser);
        boolean passwordOk = passwordDigest != null && java.security.MessageDigest.isEqual(passwordDigest, givenPassword);
        if (!(userOk && passwordOk)) throw new AuthenticationException("invalid user name or password");
    }

    private static byte[] digest(String text) throws Exception {
        return java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes("UTF-8"));
    }
}
