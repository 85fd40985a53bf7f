from flask import Flask, session, redirect, url_for

app = Flask(__name__)
app.secret_key = '⟦k1:alnum/40!⟧'
app.config['SESSION_COOKIE_SECURE'] = True


@app.route('/')
def index():
    if 'user' in session:
        return f"Logged in as {session['user']}"
    return redirect(url_for('login'))
