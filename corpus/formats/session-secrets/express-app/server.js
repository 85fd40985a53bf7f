const express = require('express');
const session = require('express-session');
const cookieParser = require('cookie-parser');

const app = express();
app.use(cookieParser('⟦k1:alnum/32!⟧'));
app.use(
  session({
    name: 'sid',
    secret: '⟦k2:alnum/48!⟧',
    resave: false,
    saveUninitialized: false,
    cookie: { secure: true, httpOnly: true },
  }),
);

app.listen(process.env.PORT || 3000);
